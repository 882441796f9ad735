"""Business operations on gifts, shared by the reader, donor and staff features.

``checkout`` starts a gift; ``admin`` refunds, cancels and resends receipts. They call
the gateway and the ledger, flush, and leave the commit to the calling view or command.
"""
