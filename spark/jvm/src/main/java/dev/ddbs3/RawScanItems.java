package dev.ddbs3;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.zip.CRC32;
import software.amazon.awssdk.core.exception.Crc32MismatchException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttribute;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

/**
 * The connector reader's items as DynamoDB sent them (issue 26.3), without leaving the connector.
 *
 * <p>SDK v2 turning a Scan page into {@code AttributeValue}s, and our converter turning them back
 * into JSON, cost 16 µs of CPU an item, a streaming copy of the same bytes 1.4 µs (docs/bench.md,
 * bench/jvm/ScanPageDecode.java). The connector gives no seam for raw pages: its read requests get an
 * unmarshalled {@code ScanResponse}, and its rate controller, retryer and page multiplexer sit around
 * that call. So this interceptor works inside the SDK's call: on a successful Scan response it
 * checks the body's CRC32 itself (as the SDK would), copies each item's bytes and hands the SDK the
 * page with every item replaced by one attribute, {@link ItemToDynamoDbJson#RAW_MARKER}, whose binary value is those bytes.
 * The SDK still parses Count, LastEvaluatedKey and ConsumedCapacity, so the connector's budget,
 * paging and retries are untouched; a throttled or failed call is not touched at all. {@link
 * ItemToDynamoDbJson#rawItem} gives the bytes back; {@link GzipExportChunks} writes them as they are.
 *
 * <p>The SDK finds it through {@code software/amazon/awssdk/global/handlers/execution.interceptors}
 * in this jar, through the SDK's own class loader: so where this jar shares that loader with the
 * connector (the local runner's {@code spark.jars}). Where it is not found, items arrive as before: on
 * EMR and the local EMR (SDK v2 on the nodes' class path, this jar through {@code --jars}), and with a
 * connector that relocates SDK v2 (it looks for a relocated path and interface). {@code -Dddbs3.rawScan=false} turns it off. A page whose items hold a line break
 * between tokens (legal JSON, never sent by DynamoDB) is left to the SDK, so every item stays one line.
 */
public final class RawScanItems implements ExecutionInterceptor {
  static final String SWITCH = "ddbs3.rawScan";
  private static final ExecutionAttribute<String> CRC32_HEADER = new ExecutionAttribute<>("ddbs3.crc32");
  private static final String CRC_HEADER = "x-amz-crc32";
  private static final JsonFactory JSON = new JsonFactory();
  private static final byte[] ITEM_START =
      ("{\"" + ItemToDynamoDbJson.RAW_MARKER.replace("\u0000", "\\u0000") + "\":{\"B\":\"").getBytes(StandardCharsets.UTF_8);
  private static final byte[] ITEM_END = "\"}}".getBytes(StandardCharsets.UTF_8);

  private static boolean applies(Context.ModifyHttpResponse context) {
    return context.request() instanceof ScanRequest
        && context.httpResponse().isSuccessful()
        && !"false".equals(System.getProperty(SWITCH));
  }

  @Override
  public SdkHttpResponse modifyHttpResponse(Context.ModifyHttpResponse context, ExecutionAttributes attributes) {
    if (!applies(context)) {
      return context.httpResponse();
    }
    // The SDK checks this header against the body it parses, which is ours now: we check it instead.
    Optional<String> crc = context.httpResponse().firstMatchingHeader(CRC_HEADER);
    crc.ifPresent(value -> attributes.putAttribute(CRC32_HEADER, value));
    return context.httpResponse().toBuilder().removeHeader(CRC_HEADER).build();
  }

  @Override
  public Optional<InputStream> modifyHttpResponseContent(Context.ModifyHttpResponse context, ExecutionAttributes attributes) {
    Optional<InputStream> body = context.responseBody();
    if (!applies(context) || !body.isPresent()) {
      return body;
    }
    try {
      byte[] page = readAll(body.get());
      String expected = attributes.getAttribute(CRC32_HEADER);
      if (expected != null) {
        CRC32 crc = new CRC32();
        crc.update(page, 0, page.length);
        if (crc.getValue() != Long.parseLong(expected)) {
          throw Crc32MismatchException.builder()
              .message("Scan response: CRC32 " + crc.getValue() + ", header " + expected)
              .build();
        }
      }
      byte[] rewritten = rewrite(page);
      return Optional.of(new ByteArrayInputStream(rewritten == null ? page : rewritten));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The page with each item as {MARKER: {B: its bytes}}; null to leave the page as it is. */
  static byte[] rewrite(byte[] page) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(page.length + page.length / 3 + 64);
    Base64.Encoder base64 = Base64.getEncoder();
    try (JsonParser p = JSON.createParser(page)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      out.write('{');
      boolean firstField = true;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        int fieldStart = (int) p.getTokenLocation().getByteOffset();
        boolean items = "Items".equals(p.getCurrentName());
        JsonToken value = p.nextToken();
        if (!firstField) {
          out.write(',');
        }
        firstField = false;
        if (items && value == JsonToken.START_ARRAY) {
          out.write("\"Items\":[".getBytes(StandardCharsets.UTF_8));
          boolean firstItem = true;
          while (p.nextToken() == JsonToken.START_OBJECT) {
            int start = (int) p.getTokenLocation().getByteOffset();
            p.skipChildren();
            int end = (int) p.getCurrentLocation().getByteOffset();
            for (int i = start; i < end; i++) {
              if (page[i] == '\n' || page[i] == '\r') {
                return null;
              }
            }
            if (!firstItem) {
              out.write(',');
            }
            firstItem = false;
            out.write(ITEM_START);
            // A copy and one encode() call: Base64's wrap() stream straight from the page measured
            // slower (decode bench, interceptor mode: 7.6-8.2 against 6.2-6.7 µs an item).
            byte[] item = new byte[end - start];
            System.arraycopy(page, start, item, 0, item.length);
            out.write(base64.encode(item));
            out.write(ITEM_END);
          }
          out.write(']');
        } else {
          if (value == JsonToken.VALUE_STRING) {
            p.getText(); // a string token is read lazily: its end is known only once it is read
          }
          p.skipChildren(); // Count, ScannedCount, LastEvaluatedKey, ConsumedCapacity: as sent
          int end = (int) p.getCurrentLocation().getByteOffset();
          out.write(page, fieldStart, end - fieldStart);
        }
      }
      out.write('}');
    }
    return out.toByteArray();
  }

  private static byte[] readAll(InputStream in) throws IOException {
    try (InputStream s = in) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = s.read(buf)) > 0; ) {
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    }
  }
}
