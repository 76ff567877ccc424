"""The customer's use cases: what the captive portal offers (pay, Paybill, vouchers,
"already paid?", the free trial, a returning customer's account, the captive API)."""
