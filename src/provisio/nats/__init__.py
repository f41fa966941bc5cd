"""NATS JetStream: the feed published to a stream, exactly once and in feed order."""
