-- A fetch marks done every pending notification of its seller and resource (notifications.c,
-- cover_sql). With (ml_user_id, status, arrived_at) that read every pending notification of the
-- seller: with a backlog of 100,000 it took 33 ms per fetch, the backlog's drain quadratic. With
-- the resource in the key it reads that resource's own (1 ms). The other readers of this index
-- (the tenant's stats and pending list) name the seller and at most the status, never an arrival
-- range right after them: they read what they read before.
DROP INDEX ml_notifications_user;
CREATE INDEX ml_notifications_user ON ml_notifications (ml_user_id, status, resource, arrived_at);
