"""The simulated world: MuJoCo SO-100/101 scene, simulated Feetech buses on pseudo-terminals, simulated cameras, scripted expert and task success."""
