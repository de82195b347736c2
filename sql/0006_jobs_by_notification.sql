-- Notification jobs are found from their notification (tenant-scoped job lists, coverage of
-- duplicates): index the link kept in the payload.
CREATE INDEX jobs_notification ON jobs (((payload->>'notification')::bigint))
    WHERE kind = 'ml_notification';
