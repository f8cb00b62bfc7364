"""What the people who run Switchboard see: the status page, /metrics, logging set-up."""
