-- Notifications are processed in groups: the group committed together is one job, and each
-- notification keeps its own status. job_id links a notification to its group's job.
ALTER TABLE ml_notifications ADD COLUMN job_id bigint;
CREATE INDEX ml_notifications_job ON ml_notifications (job_id);
