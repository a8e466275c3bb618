"""`python -m cdk_netmon plan`: what the next deploy would do to each monitor, probe by probe, with
the exact API calls, from the handler's own planner. Standard library and the handler's pure
modules only, so that it starts without Node.js or jsii. One layer a module:

- `assembly`: synthesized stacks as the commands read them (a template file, or a cloud assembly);
- `resolve`: a template's values, its intrinsic functions resolved or written as placeholders;
- `declared`: the monitors a template declares, as the handler will read them;
- `account`: the live account, read-only;
- `preview`: each monitor's lines and calls, against an older template or the live account;
- `command`: the command line (`command.main`) and its output (`command.run`).

`assembly` and `resolve` are shared with the test kit's offline deploy and `declared_monitors`.
"""
