"""The ReGenZet AWS deployment: a CDK app with one stack per stage (see docs/deploy.md)."""
