"""Prints template.yaml as the SAM translator makes it into CloudFormation:
each function's execution role with its policies expanded as SAM expands them
(policy templates such as DynamoDBReadPolicy, the roles' managed policies).
Used by infra/iam, offline: the translator ships with cfn-lint."""
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no managed policy by name, so none is looked up."""

    def load(self):
        return {}


def main(path):
    with open(path) as f:
        tmpl = yaml_parse(f.read())
    # sam package replaces each CodeUri with the S3 location it uploads to;
    # the translator accepts nothing else.
    for logical_id, resource in tmpl.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://local/" + logical_id
    json.dump(transform(tmpl, {}, NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
