"""What users do, as plain functions over storage: no Slack or HTTP types here."""
