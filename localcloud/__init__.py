"""Deploy an app with the real CDK CLI to a local cloud: ministack, with the Network Monitor emulator.

    make deploy-local                      # the example app: bootstrap, synth, deploy, watch, destroy
    python -m localcloud --stack NetmonHybridConnectivity   # one stack (and those it depends on)

This is the repository's own tooling, not part of the package (the wheel has no `localcloud`): it
drives the project's pinned CDK CLI and ministack's own environment. The emulator's server, which
it starts, is the package's (`python -m cdk_netmon.testing.emulator serve`) and works with any
local cloud.

ministack (PyPI `ministack`) plays CloudFormation, Lambda, Step Functions, S3, IAM and the rest; it
runs the Provider framework's Node.js code and the handler's Python asset as local processes. The
emulator (`python -m cdk_netmon.testing.emulator serve`) plays Network Monitor, its clock scaled so
that PENDING minutes pass in seconds, leaving the service's security groups and network interfaces
in ministack's EC2 (`--ec2-endpoint`), where the app's VPC is, so that a destroy shows whether the
handler's clean-up lets CloudFormation delete the VPC. ministack lives in its own environment
(`localcloud/requirements.txt`, installed into `.local-cloud/venv`), since it pins its own botocore,
and its Lambdas inherit its environment: that is how the handler reaches the emulator
(AWS_ENDPOINT_URL_NETWORKMONITOR) and the Provider framework reaches ministack (AWS_ENDPOINT_URL).
The app is synthesized in the local cloud's environment (its account and region are the CLI's
defaults) and the quotas its stacks declare become the emulator's account's, as a team that
declares raised quotas has raised them.

Both servers listen on 127.0.0.1 only and are stopped by their process ids whatever happens; every
wait is bounded. Known gaps of ministack, and how they are met here:
- it has no provisioner for AWS::EC2::FlowLog or AWS::CloudWatch::CompositeAlarm:
  `localcloud/launch_ministack.py` registers them (composite alarms through ministack's own
  CloudWatch, which has PutCompositeAlarm);
- its Node.js Lambdas have no `@aws-sdk/client-ec2`, which aws-cdk-lib's restrictDefaultSecurityGroup
  custom resource needs and AWS's runtime provides: the project's package.json pins it, on NODE_PATH;
- it sends no Delete after a failed Create, ignores the physical id of a FAILED response, never
  delivers a request twice, evaluates no IAM here, and reports every resource as updated on an
  update: the Python stand-in (`StackDriver`) covers those behaviours of AWS instead.
"""

from .cloud import ACCOUNT, REGION, LocalCloud, LocalCloudError
from .command import deploy_and_destroy, main

__all__ = ["ACCOUNT", "REGION", "LocalCloud", "LocalCloudError", "deploy_and_destroy", "main"]
