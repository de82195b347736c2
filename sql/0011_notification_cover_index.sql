-- A fetch marks done every pending notification of its seller and resource (notifications.c,
-- cover_sql). With (ml_user_id, status, arrived_at) that read every pending notification of the
-- seller: with a backlog of 100,000 it took 33 ms per fetch, the backlog's drain quadratic. With
-- the resource in the key it reads that resource's own (1 ms). The pending list names the seller
-- and the status, and reads what it read before.
DROP INDEX ml_notifications_user;
CREATE INDEX ml_notifications_user ON ml_notifications (ml_user_id, status, resource, arrived_at);
-- The stats' window (the last N hours): rows are appended in arrival order, so a block range index
-- finds the window's pages for nearly nothing per insert (a second B-tree on (ml_user_id,
-- arrived_at) cost the intake ~8 % of PostgreSQL's time per notification). Without it a seller
-- with 1,000,000 notifications of history waited 126 ms for a day's stats (a sequential scan);
-- with it 17 ms.
CREATE INDEX ml_notifications_arrived ON ml_notifications USING brin (arrived_at)
    WITH (autosummarize = on);
