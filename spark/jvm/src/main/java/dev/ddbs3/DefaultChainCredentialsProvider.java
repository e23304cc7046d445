package dev.ddbs3;

import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;

/**
 * For {@code dynamodb.customAWSCredentialsProvider}: connector 5.0.0 falls back to the instance
 * profile only, so this hands it the SDK v2 default chain (env vars, system properties, web
 * identity, profiles, container and instance roles). No secret goes into a Hadoop conf or step.
 * The connector instantiates it through the public no-arg constructor.
 */
public class DefaultChainCredentialsProvider implements AwsCredentialsProvider {
  private final AwsCredentialsProvider delegate;

  public DefaultChainCredentialsProvider() {
    this.delegate = DefaultCredentialsProvider.create();
  }

  public static DefaultChainCredentialsProvider create() {
    return new DefaultChainCredentialsProvider();
  }

  @Override
  public AwsCredentials resolveCredentials() {
    return delegate.resolveCredentials();
  }

  @Override
  public String toString() {
    return "DefaultChainCredentialsProvider(" + delegate + ")";
  }
}
