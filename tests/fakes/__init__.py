"""Fakes of the platforms and senders, in one place so every test shares the same doubles."""
