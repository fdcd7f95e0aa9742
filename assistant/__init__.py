"""边聊边办 assistant: matter identification, slots, pre-fill, pre-review, cited answers, hand-off."""
