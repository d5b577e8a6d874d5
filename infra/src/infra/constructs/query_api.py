"""The query API in AWS: a Lambda container image (ARM64) behind an HTTP API with a Cognito JWT authorizer.

Why Lambda and not an always-on Fargate service: with the read-model snapshot (issue 16) a cold start
loads the grid in about a second, so nothing needs to stay warm; the read model refreshes on the request
path (a frozen function cannot refresh in the background) and every request ends well inside API
Gateway's 30 s. The same function serves the built UI from the same origin, so the browser needs no CORS.

Routes: ``/api/inventory/config`` is public (how the UI signs in); every other ``/api/...`` path needs a
Cognito token (the JWT authorizer checks issuer and audience before the function runs, the app checks
again and reads the groups viewer/operator/admin); ``$default`` serves the UI's static files.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.stacks.artifacts import Artifacts
from infra.stacks.nag import acknowledge

ROLES = ("viewer", "operator", "admin")
"""Cognito groups, in increasing power (the API's roles; the ``cognito:groups`` claim carries them)."""

API_TIMEOUT_S = 29
"""API Gateway ends a request at 30 s."""

API_MEMORY_MIB = 2048
"""The read-model snapshot of 100,000 items fits, and Lambda's CPU share grows with memory."""

WEB_DIST_DIR = "/opt/web/dist"
"""Where the API image (services/api/Dockerfile) puts the built UI (infra/tests/test_artifacts.py checks it)."""


class QueryApi(Construct):
    """User pool with groups and a PKCE app client, the API function, and the HTTP API in front of it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        artifacts: Artifacts,
        role: iam.IRole,
        environment: dict[str, str],
        log_retention: logs.RetentionDays,
        domain_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"{prefix}inventory-users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.groups = {
            name: cognito.CfnUserPoolGroup(
                self,
                f"Group{name.capitalize()}",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=name,
                precedence=len(ROLES) - i,
                description=f"Inventory API role {name}",
            )
            for i, name in enumerate(ROLES)
        }
        self.domain = self.user_pool.add_domain(
            "SignIn", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        self.http_api = apigw.HttpApi(
            self, "Http", api_name=f"{prefix}inventory-api", description="AWS Auto-Discovery query API and UI"
        )
        endpoint = self.http_api.api_endpoint
        self.client = self.user_pool.add_client(
            "Ui",
            user_pool_client_name=f"{prefix}inventory-ui",
            generate_secret=False,  # a browser app cannot keep a secret: authorization code + PKCE
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[f"{endpoint}/"],  # the UI returns to its origin (web/src/auth.ts)
                logout_urls=[f"{endpoint}/"],
            ),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(1),
        )
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool.user_pool_id}"
        hosted = f"https://{self.domain.domain_name}.auth.{region}.amazoncognito.com/oauth2"
        self.oidc_environment = {
            "AUTH_MODE": "oidc",
            "OIDC_ISSUER": issuer,
            "OIDC_AUDIENCE": self.client.user_pool_client_id,
            "OIDC_JWKS_URL": f"{issuer}/.well-known/jwks.json",
            "OIDC_CLIENT_ID": self.client.user_pool_client_id,
            "OIDC_AUTHORIZE_URL": f"{hosted}/authorize",
            "OIDC_TOKEN_URL": f"{hosted}/token",
        }

        function_name = f"{prefix}inventory-api"
        self.log_group = logs.LogGroup(
            self, "Logs", log_group_name=f"/aws/lambda/{function_name}", retention=log_retention
        )
        self.log_group.grant_write(role)
        props = artifacts.image_props("api")
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            function_name=function_name,
            code=lambda_.DockerImageCode.from_image_asset(
                str(props.pop("directory")),
                cmd=["inventory_api.handler.lambda_handler"],
                **props,  # type: ignore[arg-type]
            ),
            architecture=lambda_.Architecture.ARM_64,
            memory_size=API_MEMORY_MIB,
            timeout=Duration.seconds(API_TIMEOUT_S),
            role=role,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": "api",
                "RATE_LIMIT_STORE": "dynamodb",
                "WEB_DIST_DIR": WEB_DIST_DIR,
                **self.oidc_environment,
                **environment,
            },
        )
        integration = integrations.HttpLambdaIntegration("Lambda", self.function)
        authorizer = authorizers.HttpJwtAuthorizer(
            "Cognito", issuer, jwt_audience=[self.client.user_pool_client_id], authorizer_name="cognito"
        )
        self.http_api.add_routes(
            path="/api/{proxy+}", methods=[apigw.HttpMethod.ANY], integration=integration, authorizer=authorizer
        )
        public = [
            *self.http_api.add_routes(
                path="/api/inventory/config", methods=[apigw.HttpMethod.GET], integration=integration
            ),
            *self.http_api.add_routes(path="/{proxy+}", methods=[apigw.HttpMethod.GET], integration=integration),
            *self.http_api.add_routes(path="/", methods=[apigw.HttpMethod.GET], integration=integration),
        ]
        self._access_logs(prefix, log_retention)
        for route in public:
            for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                acknowledge(
                    route,
                    rule,
                    "Public by design: the UI's static files and /api/inventory/config (how to sign in, no "
                    "secret). Every other /api/ route has the Cognito JWT authorizer, and the app checks again.",
                )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is optional (TOTP) so an organization can enforce it through its own IdP federation; self "
            "sign-up is off, admins create the users.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan (threat protection) costs per active user; Essentials with admin-created "
            "users, a 12-character password policy and optional TOTP MFA is the default.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG3",
            "Threat protection is a paid Plus-plan feature; the pool has no self sign-up and a 12-character "
            "password policy.",
        )
        CfnOutput(self, "Url", value=endpoint, description="The API and the UI")
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "UiClientId", value=self.client.user_pool_client_id)

    def _access_logs(self, prefix: str, retention: logs.RetentionDays) -> None:
        log_group = logs.LogGroup(
            self, "AccessLogs", log_group_name=f"/inventory/{prefix}api-access", retention=retention
        )
        stage = self.http_api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=log_group.log_group_arn,
            format='{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
            '"sub":"$context.authorizer.claims.sub","routeKey":"$context.routeKey",'
            '"status":"$context.status","latencyMs":"$context.integrationLatency",'
            '"error":"$context.authorizer.error"}',
        )
        cfn_stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_burst_limit=200, throttling_rate_limit=100
        )
