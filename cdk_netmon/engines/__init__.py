"""How a `NetworkMonitor` becomes CloudFormation resources: one module per engine behind the
small interface of `engine.py`."""
