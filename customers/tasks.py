"""Background tasks of the customer portal."""

from django.tasks import task

from customers.invitations import LinkPurpose, send_set_password_links


@task()
def send_set_password_links_task(links: list[list[int | str]]) -> int:
    """Email set-password links given as [customer id, purpose]; returns how many were sent."""
    return send_set_password_links(
        (int(customer_id), LinkPurpose(str(purpose))) for customer_id, purpose in links
    )
