"""The scanner in AWS: network, ECS cluster, the Fargate task definition of TRD 5.1, the daily schedule and
the launcher that turns each ScanRequested on scan-requests into a task.

Network choice (docs/deploy.md has the numbers): the scanner calls AWS APIs of every target region, which
VPC interface endpoints cannot serve (an endpoint answers for its own region only, at about $7.30 per
month per AZ per service), and a NAT gateway costs about $32.85 per month plus $0.045 per GB. So a new VPC
gets two public subnets and no NAT: the task gets a public IP (billed only while it runs) and a security
group with no inbound rule; S3 and DynamoDB gateway endpoints (free) keep home-region traffic private.
An existing VPC can be used by context, with its public or (NAT-routed) private subnets.

The launcher is an EventBridge Pipe (SQS -> ECS RunTask) rather than a function: no code to run, scale or
patch, retries and the queue's redrive come with it. The request travels whole as the container's
``SCAN_REQUEST`` environment override (the ``$.body`` of the SQS message). A request the pipe cannot turn
into a task is retried until the queue's redrive sends it to scan-requests-dlq, whose small function ends
that execution as failed (``scanner.launch_failed``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from inventory_core.topology import LONG_PROCESS_MALLOC_ENV, SCAN_SCHEDULE_EXPRESSION

from infra.stacks.artifacts import Artifacts
from infra.stacks.config import StackConfig
from infra.stacks.nag import acknowledge

CONTAINER_NAME = "scanner"
"""The container the shard launcher and the pipe override (the scanner's ECS_CONTAINER_NAME default)."""

TASK_CPU = 1024
TASK_MEMORY_MIB = 2048
"""TRD 5.1: 1 vCPU, 2048 MB, ARM64."""


@dataclass(frozen=True)
class TaskNetwork:
    """Where a scanner task runs (the same for the schedule, the launcher and the scanner's own shards)."""

    subnets: list[str]
    security_groups: list[str]
    assign_public_ip: str


class ScannerTask(Construct):
    """VPC, cluster, task definition, schedule and launcher of the scanner."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        artifacts: Artifacts,
        task_role: iam.IRole,
        environment: dict[str, str],
        scan_requests: sqs.IQueue,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = config.prefix
        self.vpc = self._network(config)
        public = config.scanner_subnets == "public"
        self.subnets = self.vpc.select_subnets(
            subnet_type=ec2.SubnetType.PUBLIC if public else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
        self.assign_public_ip = public
        self.security_group = ec2.SecurityGroup(
            self,
            "TaskSecurityGroup",
            vpc=self.vpc,
            description="Scanner tasks: outbound HTTPS to AWS APIs only, no inbound",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs over HTTPS")

        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"{prefix}inventory",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.log_group = logs.LogGroup(
            self, "Logs", log_group_name=f"/inventory/{prefix}scanner", retention=log_retention
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=f"{prefix}inventory-scanner",
            cpu=TASK_CPU,
            memory_limit_mib=TASK_MEMORY_MIB,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            task_role=task_role,
        )
        self.image = ecr_assets.DockerImageAsset(self, "Image", **artifacts.image_props("scanner"))  # type: ignore[arg-type]
        self.container = self.task_definition.add_container(
            CONTAINER_NAME,
            container_name=CONTAINER_NAME,
            image=ecs.ContainerImage.from_docker_image_asset(self.image),
            logging=ecs.LogDriver.aws_logs(log_group=self.log_group, stream_prefix="scanner"),
            environment={
                **environment,
                # glibc: 2 arenas and a fixed mmap threshold keep the peak RSS at 100,000 resources under 300 MB
                # (inventory_core.topology.LONG_PROCESS_MALLOC_ENV).
                **LONG_PROCESS_MALLOC_ENV,
                # Shards of a large request run as tasks of this same definition (scanner SHARD_LAUNCHER=ecs).
                "SHARD_LAUNCHER": "ecs",
                "ECS_CLUSTER": self.cluster.cluster_arn,
                "ECS_TASK_DEFINITION": self.task_definition.family,
                "ECS_CONTAINER_NAME": CONTAINER_NAME,
                "ECS_SUBNETS": ",".join(self.subnets.subnet_ids),
                "ECS_SECURITY_GROUPS": self.security_group.security_group_id,
                "ECS_ASSIGN_PUBLIC_IP": "true" if public else "false",
            },
            stop_timeout=Duration.seconds(120),  # SIGTERM -> finished scopes reported, the rest left unmarked
        )
        # The scanner starts its own shard tasks: RunTask on this definition and PassRole of its two roles.
        self.task_definition.grant_run(task_role)

        network = TaskNetwork(
            subnets=list(self.subnets.subnet_ids),
            security_groups=[self.security_group.security_group_id],
            assign_public_ip="ENABLED" if public else "DISABLED",
        )
        self.schedule = self._schedule(prefix, network)
        self.pipe = self._launcher(prefix, scan_requests, network, log_retention)
        self._suppressions()

    def _network(self, config: StackConfig) -> ec2.IVpc:
        if config.vpc_id:
            return ec2.Vpc.from_lookup(self, "Vpc", vpc_id=config.vpc_id)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDB": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
            restrict_default_security_group=True,
        )
        vpc.add_flow_log("FlowLogs", traffic_type=ec2.FlowLogTrafficType.REJECT)
        return vpc

    def _schedule(self, prefix: str, network: TaskNetwork) -> scheduler.CfnSchedule:
        role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: starts the daily scanner task",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
        )
        self.task_definition.grant_run(role)
        return scheduler.CfnSchedule(
            self,
            "DailyScan",
            name=f"{prefix}inventory-daily-scan",
            description="Daily inventory scan of every enabled account (TRD 5.1)",
            schedule_expression=SCAN_SCHEDULE_EXPRESSION,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.cluster.cluster_arn,
                role_arn=role.role_arn,
                ecs_parameters=scheduler.CfnSchedule.EcsParametersProperty(
                    task_definition_arn=self.task_definition.task_definition_arn,
                    launch_type="FARGATE",
                    platform_version="LATEST",
                    task_count=1,
                    network_configuration=scheduler.CfnSchedule.NetworkConfigurationProperty(
                        awsvpc_configuration=scheduler.CfnSchedule.AwsVpcConfigurationProperty(
                            subnets=network.subnets,
                            security_groups=network.security_groups,
                            assign_public_ip=network.assign_public_ip,
                        )
                    ),
                ),
                # No override: without EXECUTION_ID or SCAN_REQUEST the task is a one-shot scheduled scan of
                # every enabled account (scanner.__main__).
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
                ),
            ),
        )

    def _launcher(
        self, prefix: str, scan_requests: sqs.IQueue, network: TaskNetwork, log_retention: logs.RetentionDays
    ) -> pipes.CfnPipe:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "LauncherRole",
            description="EventBridge Pipe: scan-requests -> one scanner task per request",
            assumed_by=iam.ServicePrincipal(
                "pipes.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
        )
        scan_requests.grant_consume_messages(role)
        self.task_definition.grant_run(role)
        log_group = logs.LogGroup(
            self, "LauncherLogs", log_group_name=f"/inventory/{prefix}scan-launcher", retention=log_retention
        )
        log_group.grant_write(role)
        return pipes.CfnPipe(
            self,
            "Launcher",
            name=f"{prefix}inventory-scan-launcher",
            description="Each ScanRequested on scan-requests becomes one scanner Fargate task",
            role_arn=role.role_arn,
            source=scan_requests.queue_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                sqs_queue_parameters=pipes.CfnPipe.PipeSourceSqsQueueParametersProperty(batch_size=1)
            ),
            target=self.cluster.cluster_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                ecs_task_parameters=pipes.CfnPipe.PipeTargetEcsTaskParametersProperty(
                    task_definition_arn=self.task_definition.task_definition_arn,
                    launch_type="FARGATE",
                    platform_version="LATEST",
                    task_count=1,
                    network_configuration=pipes.CfnPipe.NetworkConfigurationProperty(
                        awsvpc_configuration=pipes.CfnPipe.AwsVpcConfigurationProperty(
                            subnets=network.subnets,
                            security_groups=network.security_groups,
                            assign_public_ip=network.assign_public_ip,
                        )
                    ),
                    overrides=pipes.CfnPipe.EcsTaskOverrideProperty(
                        container_overrides=[
                            pipes.CfnPipe.EcsContainerOverrideProperty(
                                name=CONTAINER_NAME,
                                environment=[
                                    pipes.CfnPipe.EcsEnvironmentVariableProperty(name="SCAN_REQUEST", value="$.body")
                                ],
                            )
                        ]
                    ),
                )
            ),
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                level="ERROR",
                cloudwatch_logs_log_destination=pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                    log_group_arn=log_group.log_group_arn
                ),
            ),
        )

    def _suppressions(self) -> None:
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The environment holds resource names and ARNs of this stack only, no secrets.",
        )
