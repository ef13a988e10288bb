"""Feetech STS3215 servos: protocol, control table, host bus, simulated bus."""
