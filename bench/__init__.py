"""`make bench`: the service's throughput, freshness, Zuora economy and import rate.

See docs/performance.md for what each figure means and the latest results.
"""
