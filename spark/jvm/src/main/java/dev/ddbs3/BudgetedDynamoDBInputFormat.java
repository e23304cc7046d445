package dev.ddbs3;

import org.apache.hadoop.dynamodb.read.DynamoDBInputFormat;
import org.apache.hadoop.mapred.JobConf;

/**
 * DynamoDBInputFormat with the number of splits taken from {@code dynamodb.max.map.tasks} alone.
 *
 * <p>The connector derives both the split count ({@code floor(read * percent) / 100}) and each
 * task's read rate ({@code floor(read * percent) / segments * localSegments}) from one setting,
 * {@code dynamodb.throughput.read}. A small budget then gives one split, a large split count needs
 * an inflated budget. Here the launcher plans the split count itself (from the budget, so every
 * task's rate is at least 1 unit and the sum stays within the budget), and sets
 * {@code dynamodb.throughput.read} to the budget it means.
 */
public class BudgetedDynamoDBInputFormat extends DynamoDBInputFormat {
  public static final String SPLITS = "dynamodb.max.map.tasks";

  @Override
  protected int getNumMappers(int configuredReadThroughput, JobConf conf) {
    return Math.max(1, conf.getInt(SPLITS, 1));
  }
}
