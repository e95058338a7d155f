-- Where matching stood (the event time of the last record it had taken for
-- the company) when it applied a review decision, so that a rebuild applies
-- the decision at the same point of the stream, before the records that
-- came after it, and ends where the live run did.
ALTER TABLE recon_reviews ADD COLUMN stream_time DateTime('UTC') DEFAULT toDateTime(0, 'UTC');
