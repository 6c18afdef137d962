"""What probes' measurements mean: pure functions over probe answers (an op's class, the benchmark's efficiency,
a distributed run's failure), shared by checks, renderers and commands. Nothing here starts a process."""
