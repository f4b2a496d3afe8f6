-- Several servers on one database. Each server announces itself (with the address the others
-- forward requests to) and keeps a heartbeat; each running session, and the webhook dispatcher,
-- is owned by one server through a lease. Times are the database's clock, in ms since epoch, so
-- servers with skewed clocks still agree on who holds what.
CREATE TABLE servers (
    id           TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- `kind` is 'session' (name = the session's name) or 'role' (name = a server-wide duty).
-- `token` grows by one each time the lease changes hands: the fencing token checked on writes.
CREATE TABLE leases (
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    token       BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX leases_owner ON leases (owner);
