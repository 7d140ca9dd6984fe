"""Level 1 channels: email, WhatsApp and Telegram in and out, through a durable inbox and outbox."""
