import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.ddbs3.ItemToDynamoDbJson;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;

/**
 * Issue 26.3, side by side: the client-side CPU of turning Scan pages into export lines
 * ({"Item":...}\n, UTF-8), on the same response bytes, in one JVM.
 *
 * <ul>
 *   <li>sdk: what the stock connector reader does. SDK v2's DynamoDbClient.scan() (request
 *       marshalling, signing, the CRC32 check, JSON unmarshalling into AttributeValue maps) over an
 *       HTTP client that answers with the captured page, then our ItemToDynamoDbJson per item.
 *   <li>sdk-raw-items: the same call with dev.ddbs3.RawScanItems on (what the connector reader does
 *       now): the page's items reach the SDK as one binary attribute each, handed back as bytes.
 *   <li>raw: a streaming copy with no SDK at all. A streaming parse of the same page (jackson-core, which the
 *       connector's jar and Spark both carry) that copies each item's bytes as DynamoDB sent them;
 *       no AttributeValue is built. It pays no request, signing or CRC: those are per page, and
 *       "sdk-empty" measures them (the SDK's call on a page with no items).
 * </ul>
 *
 * <p>Args: rounds, then the page files (HTTP response bodies of Scan, as captured by
 * bench/connector_decode.py). Prints one JSON line per mode: items, CPU seconds of this thread for
 * the timed rounds (the first round warms the JIT and is not timed), output bytes.
 */
public final class ScanPageDecode {
  private static final byte[] LINE_START = "{\"Item\":".getBytes(StandardCharsets.UTF_8);
  private static final byte[] LINE_END = "}\n".getBytes(StandardCharsets.UTF_8);
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  /** An HTTP client that answers every request with the next captured page. */
  static final class CannedPages implements SdkHttpClient {
    private final List<byte[]> pages;
    private int next;

    CannedPages(List<byte[]> pages) {
      this.pages = pages;
    }

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
      byte[] body = pages.get(next++ % pages.size());
      CRC32 crc = new CRC32();
      crc.update(body, 0, body.length);
      return new ExecutableHttpRequest() {
        @Override
        public HttpExecuteResponse call() {
          SdkHttpResponse head =
              SdkHttpResponse.builder()
                  .statusCode(200)
                  .putHeader("Content-Type", "application/x-amz-json-1.0")
                  .putHeader("Content-Length", Integer.toString(body.length))
                  .putHeader("x-amz-crc32", Long.toString(crc.getValue()))
                  .build();
          return HttpExecuteResponse.builder()
              .response(head)
              .responseBody(AbortableInputStream.create(new ByteArrayInputStream(body)))
              .build();
        }

        @Override
        public void abort() {}
      };
    }

    @Override
    public void close() {}
  }

  interface Mode {
    /** Decodes every page once into out; returns the items. */
    long run(List<byte[]> pages, ByteArrayOutputStream out) throws IOException;
  }

  static DynamoDbClient client(List<byte[]> pages) {
    return DynamoDbClient.builder()
        .httpClient(new CannedPages(pages))
        .region(Region.US_EAST_1)
        .endpointOverride(URI.create("http://127.0.0.1:1"))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
        .build();
  }

  static long sdk(DynamoDbClient ddb, int pageCount, ByteArrayOutputStream out) {
    long items = 0;
    StringBuilder json = new StringBuilder(4096);
    ScanRequest request = ScanRequest.builder().tableName("bench").segment(0).totalSegments(1).build();
    for (int i = 0; i < pageCount; i++) {
      ScanResponse page = ddb.scan(request);
      for (Map<String, AttributeValue> item : page.items()) {
        byte[] utf8 = ItemToDynamoDbJson.rawItem(item); // as GzipExportChunks does
        if (utf8 == null) {
          json.setLength(0);
          ItemToDynamoDbJson.appendJson(json, item);
          utf8 = json.toString().getBytes(StandardCharsets.UTF_8);
        }
        out.write(LINE_START, 0, LINE_START.length);
        out.write(utf8, 0, utf8.length);
        out.write(LINE_END, 0, LINE_END.length);
        items++;
      }
    }
    return items;
  }

  static long raw(JsonFactory json, List<byte[]> pages, ByteArrayOutputStream out) throws IOException {
    long items = 0;
    for (byte[] page : pages) {
      try (JsonParser p = json.createParser(page)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw new IOException("a Scan page is a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.getCurrentName();
          JsonToken value = p.nextToken();
          if ("Items".equals(field) && value == JsonToken.START_ARRAY) {
            while (p.nextToken() == JsonToken.START_OBJECT) {
              int start = (int) p.getTokenLocation().getByteOffset();
              p.skipChildren();
              int end = (int) p.getCurrentLocation().getByteOffset();
              out.write(LINE_START, 0, LINE_START.length);
              out.write(page, start, end - start);
              out.write(LINE_END, 0, LINE_END.length);
              items++;
            }
          } else {
            p.skipChildren(); // Count, ScannedCount, LastEvaluatedKey, ConsumedCapacity
          }
        }
      }
    }
    return items;
  }

  static String measure(String name, int rounds, int pageCount, Mode mode, List<byte[]> pages) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 24);
    mode.run(pages, out); // warm-up round: class loading and the JIT
    long items = 0;
    long bytes = 0;
    long cpu0 = CPU.getCurrentThreadCpuTime();
    for (int r = 0; r < rounds; r++) {
      out.reset();
      items += mode.run(pages, out);
      bytes += out.size();
    }
    double cpu = (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9;
    return String.format(
        "{\"mode\": \"%s\", \"rounds\": %d, \"pages\": %d, \"items\": %d, \"cpu_s\": %.4f, \"us_per_item\": %.3f, \"bytes\": %d}",
        name, rounds, pageCount, items, cpu, items == 0 ? 0.0 : cpu * 1e6 / items, bytes);
  }

  public static void main(String[] args) throws IOException {
    int rounds = Integer.parseInt(args[0]);
    List<byte[]> pages = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      pages.add(Files.readAllBytes(Paths.get(args[i])));
    }
    int n = pages.size();
    DynamoDbClient ddb = client(pages);
    // dev.ddbs3.RawScanItems is on this class path (the helper jar), as in the export's executors:
    // off for the stock SDK path, on for the path the connector reader takes now.
    System.setProperty("ddbs3.rawScan", "false");
    System.out.println(measure("sdk", rounds, n, (ps, out) -> sdk(ddb, n, out), pages));
    System.setProperty("ddbs3.rawScan", "true");
    System.out.println(measure("sdk-raw-items", rounds, n, (ps, out) -> sdk(ddb, n, out), pages));
    System.setProperty("ddbs3.rawScan", "false");
    JsonFactory json = new JsonFactory();
    System.out.println(measure("raw", rounds, n, (ps, out) -> raw(json, ps, out), pages));
    // The SDK's per-page cost alone (marshalling, signing, CRC, an empty page's parse), as the raw
    // reader would still pay it for each request it sends.
    List<byte[]> empty = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      empty.add("{\"Count\":0,\"Items\":[],\"ScannedCount\":0}".getBytes(StandardCharsets.UTF_8));
    }
    DynamoDbClient bare = client(empty);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    bare.scan(ScanRequest.builder().tableName("bench").build()); // warm-up
    long cpu0 = CPU.getCurrentThreadCpuTime();
    for (int r = 0; r < rounds; r++) {
      sdk(bare, n, sink);
    }
    double cpu = (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9;
    System.out.println(String.format(
        "{\"mode\": \"sdk-empty\", \"rounds\": %d, \"pages\": %d, \"cpu_s\": %.4f, \"us_per_page\": %.3f}",
        rounds, n, cpu, cpu * 1e6 / (rounds * (double) n)));
    Optional.ofNullable(System.getenv("SCAN_PAGE_DECODE_CHECK")).ifPresent(path -> check(pages, ddb, json, path));
  }

  /** Writes both modes' lines of the pages to path.sdk and path.raw, for the bench to compare. */
  static void check(List<byte[]> pages, DynamoDbClient ddb, JsonFactory json, String path) {
    try {
      ByteArrayOutputStream a = new ByteArrayOutputStream();
      sdk(ddb, pages.size(), a);
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      raw(json, pages, b);
      Files.write(Paths.get(path + ".sdk"), a.toByteArray());
      Files.write(Paths.get(path + ".raw"), b.toByteArray());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
