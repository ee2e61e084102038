"""The tools around the services, none of which a service imports: the `sentivis` command (cli),
the local launcher (`sentivis up`: up, stack, processes, sentinel, postgres), a Python client of the
gateway (client, adaptive) and real face frames to send it (samples)."""
