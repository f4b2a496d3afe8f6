-- A fenced write (migration 0017) no longer locks the lease row. It locked it FOR SHARE until it
-- committed, so that the lease could not change hands meanwhile; but a row lock is written into
-- the row (a WAL record, and a MultiXact once two writes of a session share it), every fenced
-- write of every session wrote into the few pages of `leases`, and the renewal of a server's
-- leases waited for the writes under way on each of them while new writes queued behind it.
--
-- Now a fenced write takes a shared advisory lock on its lease's key, held until it commits, and
-- then reads the lease (a new snapshot: each statement of a VOLATILE PL/pgSQL function takes
-- one under READ COMMITTED, so it sees a change of hands committed while it waited). Whatever
-- gives a lease a new owner or token takes the same key's lock exclusively first (the trigger
-- below, so every writer of `leases` does, whatever its code): it waits for every write that
-- passed its check to commit, and a write that checks after it waits for it, then sees the new
-- owner and is refused. A renewal (only `expires_at` changes) takes no lock and waits for no
-- write. Two leases whose keys collide (64-bit hashes) only wait for each other.

CREATE FUNCTION titan_lease_key(p_kind TEXT, p_name TEXT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$ SELECT hashtextextended(p_kind || '/' || p_name, 0) $$;

CREATE OR REPLACE FUNCTION titan_hold_lease(p_name TEXT, p_owner TEXT, p_token BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(titan_lease_key('session', p_name));
    PERFORM 1 FROM leases WHERE kind = 'session' AND name = p_name AND owner = p_owner
        AND token = p_token AND expires_at > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'this server no longer holds the lease of %', p_name USING ERRCODE = 'TF001';
    END IF;
    RETURN FALSE;
END
$$;

CREATE FUNCTION titan_lease_changes_hands() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(titan_lease_key(NEW.kind, NEW.name));
    RETURN NEW;
END
$$;

CREATE TRIGGER leases_change_hands BEFORE INSERT OR UPDATE OF kind, name, owner, token ON leases
    FOR EACH ROW EXECUTE FUNCTION titan_lease_changes_hands();
