"""What mcqueue computes from nights and history: scores, plans, validation, calibration."""
