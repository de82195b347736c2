-- A seller's notifications in two partial indexes, each read only for what it holds, however long
-- the history: what is waiting, by resource, and what was processed, by arrival. A notification
-- is written into one of them at intake and into the other when it is marked, as into the one
-- index (ml_user_id, status, arrived_at) they replace; the resource in the key still costs the
-- intake ~2-4 us more of PostgreSQL's time per notification (README, bench-webhooks).
--   - A fetch marks done every pending notification of its seller and resource (notifications.c,
--     cover_sql): through (ml_user_id, status, arrived_at) that read every pending notification
--     of the seller, 33 ms per fetch with a backlog of 100,000 (the drain quadratic), 1 ms now.
--   - The stats read each seller's window (the last N hours) from both: before, every row the
--     seller ever had.
--   - The pending list reads the sellers' pending rows, as before.
DROP INDEX ml_notifications_user;
CREATE INDEX ml_notifications_pending ON ml_notifications (ml_user_id, resource, arrived_at)
    WHERE status = 'pending';
CREATE INDEX ml_notifications_processed ON ml_notifications (ml_user_id, arrived_at)
    WHERE status <> 'pending';
