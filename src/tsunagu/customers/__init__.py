"""Customers: the buyers of a marketplace, one account per marketplace, known by the
pseudonymous ``customer_id`` their orders carry. Points balances hang off them; linked customer
accounts and the buyer's profile extend them later."""
