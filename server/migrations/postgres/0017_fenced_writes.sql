-- One-statement fenced writes. A device-store write made under a session's lease runs as
--   WITH fence AS (INSERT INTO fence_probe SELECT WHERE titan_hold_lease($a, $b, $c)) <the write>
-- instead of BEGIN, a lease check, the write and COMMIT: a data-modifying CTE is the one part of a
-- statement PostgreSQL always runs, whether or not the rest refers to it. `titan_hold_lease`
-- locks the session's lease row FOR SHARE until the statement commits (so the lease cannot
-- change hands meanwhile) or, when the caller's lease has moved on or expired, raises SQLSTATE
-- TF001, which undoes the whole statement, the write included. It answers false, so nothing is
-- ever inserted into `fence_probe`.
CREATE TABLE fence_probe ();

CREATE FUNCTION titan_hold_lease(p_name TEXT, p_owner TEXT, p_token BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM leases WHERE kind = 'session' AND name = p_name AND owner = p_owner
        AND token = p_token AND expires_at > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT
        FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'this server no longer holds the lease of %', p_name USING ERRCODE = 'TF001';
    END IF;
    RETURN FALSE;
END
$$;
