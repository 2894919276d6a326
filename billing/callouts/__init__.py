"""HTTP endpoints that receive Zuora callouts: authenticate, validate, record, answer."""
