-- Each claim of an idempotency key carries a random token. Only the request
-- holding the key under its token may complete or release it: a request
-- whose hold lapsed, and whose key another request took over, can neither
-- tie the key to a second submission nor free it under its successor.
ALTER TABLE idempotency_keys ADD COLUMN claim_token uuid;
