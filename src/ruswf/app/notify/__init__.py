"""Integrations that leave ruswf: e-mail reminders (`reminders`, `mailer`, `schedule`)
and webhooks (`webhooks`, `dispatcher`, `targets`). See docs/integrations.md."""
