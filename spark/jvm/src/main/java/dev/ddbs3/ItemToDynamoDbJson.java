package dev.ddbs3;

import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.dynamodb.DynamoDBItemWritable;
import org.apache.spark.api.python.Converter;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * PySpark value converter: DynamoDBItemWritable (connector 5.x, SDK v2) to a String holding the
 * item in DynamoDB JSON exactly as the native DynamoDB export writes it (upper-case type keys,
 * numbers as the exact strings DynamoDB returned, binary as padded standard base64).
 *
 * <p>Only the streaming JsonWriter is used, which exists in every gson release (pyspark ships
 * gson 2.2.4), so the result does not depend on which gson wins on the class path.
 */
public class ItemToDynamoDbJson implements Converter<Object, Object> {
  private static final long serialVersionUID = 1L;

  @Override
  public Object convert(Object obj) {
    if (obj == null) {
      return null;
    }
    if (!(obj instanceof DynamoDBItemWritable)) {
      throw new IllegalArgumentException(
          "ItemToDynamoDbJson expects org.apache.hadoop.dynamodb.DynamoDBItemWritable, got "
              + obj.getClass().getName());
    }
    return toJson(((DynamoDBItemWritable) obj).getItem());
  }

  /** The item as one DynamoDB JSON object: {"name":{"S":"x"},...}. */
  public static String toJson(Map<String, AttributeValue> item) {
    StringBuilder out = new StringBuilder();
    appendJson(out, item);
    return out.toString();
  }

  /** The same JSON appended to out (GzipExportChunks reuses one builder for all its items). */
  public static void appendJson(StringBuilder out, Map<String, AttributeValue> item) {
    try {
      JsonWriter w = new JsonWriter(new BuilderWriter(out));
      w.setHtmlSafe(false);
      w.setLenient(false);
      writeMap(w, item);
      w.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A Writer into a StringBuilder (StringWriter's StringBuffer locks on every write). */
  private static final class BuilderWriter extends Writer {
    private final StringBuilder out;

    BuilderWriter(StringBuilder out) {
      this.out = out;
    }

    @Override
    public void write(char[] buf, int off, int len) {
      out.append(buf, off, len);
    }

    @Override
    public void write(int c) {
      out.append((char) c);
    }

    @Override
    public void write(String s, int off, int len) {
      out.append(s, off, off + len);
    }

    @Override
    public Writer append(CharSequence s) {
      out.append(s);
      return this;
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  private static void writeMap(JsonWriter w, Map<String, AttributeValue> map) throws IOException {
    w.beginObject();
    if (map != null) {
      for (Map.Entry<String, AttributeValue> e : map.entrySet()) {
        w.name(e.getKey());
        writeValue(w, e.getValue());
      }
    }
    w.endObject();
  }

  private static void writeValue(JsonWriter w, AttributeValue v) throws IOException {
    w.beginObject();
    switch (v.type()) {
      case S:
        w.name("S").value(v.s());
        break;
      case N:
        w.name("N").value(v.n());
        break;
      case B:
        w.name("B").value(b64(v.b()));
        break;
      case SS:
        w.name("SS");
        writeStrings(w, v.ss());
        break;
      case NS:
        w.name("NS");
        writeStrings(w, v.ns());
        break;
      case BS:
        w.name("BS").beginArray();
        for (SdkBytes b : v.bs()) {
          w.value(b64(b));
        }
        w.endArray();
        break;
      case M:
        w.name("M");
        writeMap(w, v.m());
        break;
      case L:
        w.name("L").beginArray();
        for (AttributeValue x : v.l()) {
          writeValue(w, x);
        }
        w.endArray();
        break;
      case BOOL:
        w.name("BOOL").value(v.bool().booleanValue());
        break;
      case NUL:
        w.name("NULL").value(true);
        break;
      default:
        throw new IllegalStateException("AttributeValue of unknown type: " + v);
    }
    w.endObject();
  }

  private static void writeStrings(JsonWriter w, List<String> xs) throws IOException {
    w.beginArray();
    for (String x : xs) {
      w.value(x);
    }
    w.endArray();
  }

  private static String b64(SdkBytes b) {
    return Base64.getEncoder().encodeToString(b.asByteArrayUnsafe());
  }
}
