-- The sweeper looked for lost dispatches through jobs_due, which holds every queued job: with a
-- backlog of queued (recently dispatched) jobs each sweep read all of them to find none. Each
-- half of the sweep now has an index that starts at what it wants.
CREATE INDEX jobs_undispatched ON jobs (queue, dispatched_at) WHERE status = 'queued';
CREATE INDEX jobs_retry_due ON jobs (queue, run_at) WHERE status = 'failed';
DROP INDEX jobs_due;

-- A group's pending notifications in one index: with job_id alone the planner, its statistics
-- behind a fast-growing table, AND-ed it with the user index and read every pending row.
CREATE INDEX ml_notifications_job_pending ON ml_notifications (job_id, status);
DROP INDEX ml_notifications_job;
