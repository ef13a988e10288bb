"""so100_driver node for the SO-100/SO-101 follower and leader arms on a Feetech STS3215 bus."""
