-- ddb-s3 export 01795780800123-abcd1234, rendered by `ddb-s3 render` / `ddb-s3 export --engine hive`.
-- Runs as an EMR hive-script step (hive -f export.hql) and the same on the local runner.
-- No credentials in here: the connector and the S3 file system use the standard chain.
-- Settings: MapReduce (the EMR guide's advice for the DynamoDB connector), gzip staging output.
SET hive.execution.engine=mr;
SET hive.exec.compress.output=true;
SET mapreduce.output.fileoutputformat.compress.codec=org.apache.hadoop.io.compress.GzipCodec;
SET hive.merge.mapfiles=false;

-- The DynamoDB table as an EXTERNAL Hive table (DynamoDBStorageHandler). Dropping it later
-- drops only the Hive metadata, never the DynamoDB table.
DROP TABLE IF EXISTS `ddb_s3_labresults_01795780800123_abcd1234`;
CREATE EXTERNAL TABLE `ddb_s3_labresults_01795780800123_abcd1234` (
  `c0` string COMMENT 'pk',
  `c1` string COMMENT 'it\'s',
  `c2` bigint COMMENT 'back`tick',
  `c3` double COMMENT 'a.b',
  `c4` boolean COMMENT 'select',
  `c5` binary COMMENT 'semi\073\044x{y}',
  `c6` array<string> COMMENT 'tags',
  `c7` array<double> COMMENT 'nums',
  `c8` array<binary> COMMENT 'blobs',
  `c9` string COMMENT '\"dq\" -- \073DROP TABLE t'
)
STORED BY 'org.apache.hadoop.hive.dynamodb.DynamoDBStorageHandler'
TBLPROPERTIES (
  'dynamodb.table.name' = 'LabResults',
  'dynamodb.column.mapping' = 'c0:pk,c1:it\'s,c2:back`tick,c3:a.b,c4:select,c5:semi\073\044x{y},c6:tags,c7:nums,c8:blobs,c9:\"dq\" -- \073DROP TABLE t',
  'dynamodb.type.mapping' = 'c6:SS,c7:NS,c8:BS',
  'dynamodb.null.serialization' = 'false',
  'dynamodb.throughput.read' = '200',
  'dynamodb.throughput.read.percent' = '1.0',
  'dynamodb.region' = 'eu-west-1'
);

-- Scan the table into the staging prefix: text rows with LazySimpleSerDe's default separators
-- and escaping on, so any attribute name or value survives. The next step converts the rows
-- into the export layout and deletes the staging objects.
INSERT OVERWRITE DIRECTORY 's3://lab-backups/ddb/nightly/AWSDynamoDB/01795780800123-abcd1234/_hive_staging/'
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'
WITH SERDEPROPERTIES ('escape.delim' = '\\', 'serialization.escape.crlf' = 'true')
STORED AS TEXTFILE
SELECT * FROM `ddb_s3_labresults_01795780800123_abcd1234`;

-- Then the marker the convert step requires, a one-row folder of its own: written only once every
-- row above is in place, so a Hive step that failed, or one still running beside the convert step
-- (ActionOnFailure CONTINUE on a cluster the user owns), is never converted and committed.
INSERT OVERWRITE DIRECTORY 's3://lab-backups/ddb/nightly/AWSDynamoDB/01795780800123-abcd1234/_hive_staging/_ddb_s3_hive_done/'
SELECT '01795780800123-abcd1234';

DROP TABLE `ddb_s3_labresults_01795780800123_abcd1234`;
