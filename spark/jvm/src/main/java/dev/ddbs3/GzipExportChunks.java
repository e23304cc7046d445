package dev.ddbs3;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.dynamodb.DynamoDBItemWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapred.JobConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * The connector reader without Python per item: each task reads its split through
 * DynamoDBInputFormat, turns every item into its line {@code {"Item":{...DynamoDB JSON...}}\n}
 * (ItemToDynamoDbJson) and gzips the lines into the bytes of its data files, at most
 * {@code maxItemsPerFile} items a file. What reaches Python is a few frames of compressed bytes per
 * file, which the task's Python side uploads (launcher/job/s3io.py write_gzipped_files: the S3
 * calls, checksums, SSE and bucket owner stay in one place).
 *
 * <p>Frames, each a byte[] whose first byte says what it is:
 *
 * <ul>
 *   <li>{@code D} + gzip bytes: the next bytes of the current data file (about 1 MiB each);
 *   <li>{@code F} + {@code {"items": n}}: the current data file ends (its gzip trailer was in the
 *       D frames before); the next D frame starts the next file;
 *   <li>{@code S} + {@code {"items": n, "bytes": b, "first": ms, "last": ms}}: the task's end: its
 *       items, their characters (the lines without the newline, as Python's len counts them) and
 *       when its first and last item arrived (epoch milliseconds, null when it read none).
 * </ul>
 *
 * An empty split still gives one (empty) data file, as the native export does. Every 5 s (checked
 * each 1,000 items) and at its end a task prints the same progress line to stderr as the Python
 * tasks do (launcher.job.runtime.ReadStats: partition, items, bytes and the seconds it has been
 * reading), which the local runner adds up.
 */
public final class GzipExportChunks {
  public static final byte DATA = 'D';
  public static final byte FILE_END = 'F';
  public static final byte TASK_END = 'S';
  static final int CHUNK_BYTES = 1 << 20;
  static final int GZIP_LEVEL = 6; // as zlib.compressobj(6) in launcher/job/s3io.py
  static final String PROGRESS_PREFIX = "ddb-s3 progress: "; // launcher/core/result_line.py
  static final String CONNECTOR_ITEMS_PREFIX = "ddb-s3 connector items: "; // how each was read
  static final long PROGRESS_NANOS = 5_000_000_000L;
  private static final byte[] LINE_START = "{\"Item\":".getBytes(StandardCharsets.UTF_8);
  private static final byte[] LINE_END = "}\n".getBytes(StandardCharsets.UTF_8);

  private GzipExportChunks() {}

  /**
   * Called from the job's driver through py4j: the table's items, read with the connector conf
   * of the plan (plus the context's Hadoop conf, as pyspark's hadoopRDD merges them), as frames.
   */
  public static JavaRDD<byte[]> read(JavaSparkContext jsc, Map<?, ?> conf, int maxItemsPerFile) {
    if (maxItemsPerFile < 1) {
      throw new IllegalArgumentException("maxItemsPerFile must be at least 1, got " + maxItemsPerFile);
    }
    JobConf job = new JobConf(jsc.hadoopConfiguration());
    for (Map.Entry<?, ?> e : conf.entrySet()) { // py4j's HashMap of the plan's dict
      job.set(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
    }
    JavaPairRDD<Text, DynamoDBItemWritable> items =
        jsc.hadoopRDD(job, BudgetedDynamoDBInputFormat.class, Text.class, DynamoDBItemWritable.class);
    return items.mapPartitionsWithIndex(
        (index, it) -> new Frames(index, it, maxItemsPerFile), true);
  }

  /** One task's frames, made as Spark pulls them (so memory stays at about one chunk). */
  static final class Frames implements Iterator<byte[]> {
    private final int partition;
    private final Iterator<Tuple2<Text, DynamoDBItemWritable>> items;
    private final int maxItemsPerFile;
    private final ArrayDeque<byte[]> ready = new ArrayDeque<>();
    private final Chunks chunks = new Chunks();
    private final StringBuilder json = new StringBuilder(2048);
    private OutputStream file; // the gzip stream of the current data file, null between files
    private int fileItems;
    private int filesWritten;
    private long count;
    private long raw; // items written as DynamoDB sent them (RawScanItems), not unmarshalled
    private long chars;
    private long first = -1; // wall clock, epoch ms
    private long last = -1;
    private long startedNanos = -1; // the monotonic clock at the first item
    private long reported = System.nanoTime();
    private boolean finished;

    Frames(int partition, Iterator<Tuple2<Text, DynamoDBItemWritable>> items, int maxItemsPerFile) {
      this.partition = partition;
      this.items = items;
      this.maxItemsPerFile = maxItemsPerFile;
    }

    @Override
    public boolean hasNext() {
      fill();
      return !ready.isEmpty();
    }

    @Override
    public byte[] next() {
      fill();
      if (ready.isEmpty()) {
        throw new NoSuchElementException();
      }
      return ready.poll();
    }

    private void fill() {
      try {
        while (ready.isEmpty() && !finished) {
          if (items.hasNext()) {
            add(items.next()._2());
          } else {
            finish();
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private void add(DynamoDBItemWritable item) throws IOException {
      long now = System.currentTimeMillis();
      if (first < 0) {
        first = now;
        startedNanos = System.nanoTime();
      }
      last = now;
      if (file != null && fileItems >= maxItemsPerFile) {
        endFile();
      }
      if (file == null) {
        file = gzip(chunks);
      }
      byte[] utf8 = ItemToDynamoDbJson.rawItem(item.getItem()); // as DynamoDB sent it (RawScanItems)
      int codePoints;
      if (utf8 != null) {
        raw++;
        codePoints = 0;
        for (byte b : utf8) {
          codePoints += (b & 0xC0) != 0x80 ? 1 : 0; // a UTF-8 continuation byte starts no code point
        }
      } else {
        json.setLength(0);
        ItemToDynamoDbJson.appendJson(json, item.getItem());
        utf8 = json.toString().getBytes(StandardCharsets.UTF_8);
        codePoints = json.codePointCount(0, json.length());
      }
      file.write(LINE_START);
      file.write(utf8);
      file.write(LINE_END);
      fileItems++;
      count++;
      // Python's len() of the line '{"Item":...}': code points, not UTF-16 units or bytes
      chars += LINE_START.length + codePoints + 1;
      if (chunks.size() >= CHUNK_BYTES) {
        ready.add(chunks.take());
      }
      if (count % 1000 == 0 && System.nanoTime() - reported >= PROGRESS_NANOS) {
        report();
      }
    }

    private void endFile() throws IOException {
      file.close(); // flushes and finishes the gzip member; Chunks.close does nothing
      file = null;
      ready.add(chunks.take());
      ready.add(frame(FILE_END, "{\"items\": " + fileItems + "}"));
      fileItems = 0;
      filesWritten++;
    }

    private void finish() throws IOException {
      if (file == null && filesWritten == 0) {
        file = gzip(chunks); // an empty split: one empty file
      }
      if (file != null) {
        endFile();
      }
      ready.add(frame(TASK_END, "{\"items\": " + count + ", \"bytes\": " + chars
          + ", \"first\": " + (first < 0 ? "null" : Long.toString(first))
          + ", \"last\": " + (last < 0 ? "null" : Long.toString(last)) + "}"));
      report();
      System.err.println(CONNECTOR_ITEMS_PREFIX + "{\"partition\": " + partition + ", \"raw\": " + raw
          + ", \"unmarshalled\": " + (count - raw) + "}");
      finished = true;
    }

    private void report() {
      reported = System.nanoTime();
      // seconds: how long the task has been reading, from its first item (as ReadStats says it)
      double seconds = startedNanos < 0 ? 0.0 : Math.round((reported - startedNanos) / 1e7) / 100.0;
      System.err.println(PROGRESS_PREFIX + "{\"partition\": " + partition + ", \"items\": " + count
          + ", \"bytes\": " + chars + ", \"seconds\": " + seconds + "}");
      System.err.flush();
    }

    /** A gzip member at GZIP_LEVEL, written to out through a buffer (few small deflate calls). */
    private static OutputStream gzip(OutputStream out) throws IOException {
      GZIPOutputStream gz =
          new GZIPOutputStream(out, 64 * 1024) {
            {
              def.setLevel(GZIP_LEVEL);
            }
          };
      return new BufferedOutputStream(gz, 64 * 1024);
    }

    private static byte[] frame(byte tag, String json) {
      byte[] body = json.getBytes(StandardCharsets.UTF_8);
      byte[] out = new byte[body.length + 1];
      out[0] = tag;
      System.arraycopy(body, 0, out, 1, body.length);
      return out;
    }
  }

  /** Where the gzip stream writes: a buffer whose first byte is the DATA tag of its frame. */
  static final class Chunks extends ByteArrayOutputStream {
    Chunks() {
      super(CHUNK_BYTES + 128 * 1024);
      write(DATA);
    }

    /** The bytes so far as one DATA frame; the buffer starts the next. */
    byte[] take() {
      byte[] frame = toByteArray();
      reset();
      write(DATA);
      return frame;
    }

    @Override
    public void close() {}
  }
}
