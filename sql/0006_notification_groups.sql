-- Notifications are processed in groups: the group committed together is one job, and each
-- notification keeps its own status. job_id links a notification to its group's job.
ALTER TABLE ml_notifications ADD COLUMN job_id bigint;
CREATE INDEX ml_notifications_job ON ml_notifications (job_id);
-- Every query on pending notifications filters by user_id (tenant scope, coverage), which the
-- (ml_user_id, status, arrived_at) index serves: one index less to write per notification.
DROP INDEX ml_notifications_pending;
