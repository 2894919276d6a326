from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Portal customers"

    def ready(self) -> None:
        from billing.signals import sold_to_changed
        from customers import checks  # noqa: F401  (registers the checks)
        from customers.receivers import provision_on_sold_to_change

        sold_to_changed.connect(
            provision_on_sold_to_change, dispatch_uid="customers.provision_on_sold_to_change"
        )
