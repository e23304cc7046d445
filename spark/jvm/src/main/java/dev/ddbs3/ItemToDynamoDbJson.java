package dev.ddbs3;

import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.dynamodb.DynamoDBItemWritable;
import org.apache.spark.api.python.Converter;

/**
 * PySpark value converter: DynamoDBItemWritable (connector 5.x, SDK v2) to a String holding the
 * item in DynamoDB JSON exactly as the native DynamoDB export writes it (upper-case type keys,
 * numbers as the exact strings DynamoDB returned, binary as padded standard base64).
 *
 * <p>Only the streaming JsonWriter is used, which exists in every gson release (pyspark ships
 * gson 2.2.4), so the result does not depend on which gson wins on the class path.
 *
 * <p>The AttributeValue class is not named here: connector releases from 5.2.0 (PR #188, Oct 2023)
 * until PR #212 (Oct 2024) shade SDK v2 and relocate it to {@code
 * org.apache.hadoop.emr.ddb.shaded.software.amazon.awssdk}, so {@code getItem()} hands back maps of
 * {@code org.apache.hadoop.emr.ddb.shaded...AttributeValue} there and of {@code
 * software.amazon.awssdk...AttributeValue} in the other releases (5.0.0, 5.1.0, the unshaded
 * 5.x backports, 6.x). Both have the same methods ({@code type()}, {@code s()}, {@code b()}, ...,
 * and SdkBytes' {@code asByteArrayUnsafe()}), so they are read through reflection, looked up once
 * per class. {@code getItem()}'s erased descriptor ({@code ()Ljava/util/Map;}) is the same in all.
 */
public class ItemToDynamoDbJson implements Converter<Object, Object> {
  private static final long serialVersionUID = 1L;

  /**
   * The one attribute of an item RawScanItems passed through as DynamoDB sent it (its binary value is
   * the item's JSON bytes): a name no table can have, fresh in every JVM. Here, not in RawScanItems,
   * so that this class never loads SDK v2's interceptor types (a relocated SDK has none).
   */
  public static final String RAW_MARKER = "\u0000ddb-s3 raw " + Long.toHexString(new SecureRandom().nextLong());

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

  /** The item as one DynamoDB JSON object: {"name":{"S":"x"},...}, as sent if RawScanItems kept it. */
  public static String toJson(Map<String, ?> item) {
    byte[] raw = rawItem(item);
    if (raw != null) {
      return new String(raw, StandardCharsets.UTF_8);
    }
    StringBuilder out = new StringBuilder();
    appendJson(out, item);
    return out.toString();
  }

  /**
   * An unmarshalled item's JSON appended to out (GzipExportChunks reuses one builder for all its
   * items, and asks {@link #rawItem} first, once).
   */
  public static void appendJson(StringBuilder out, Map<String, ?> item) {
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

  /** The item's JSON bytes as DynamoDB sent them, if RawScanItems passed it through; else null. */
  public static byte[] rawItem(Map<String, ?> item) {
    if (item == null || item.size() != 1) {
      return null;
    }
    Object value = item.get(RAW_MARKER);
    if (value == null) {
      return null;
    }
    Accessors a = ACCESSORS.get(value.getClass());
    Object sdkBytes = a.call(a.b, value);
    Accessors bytes = BYTES.get(sdkBytes.getClass());
    return (byte[]) bytes.call(bytes.bytes, sdkBytes);
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

  private static void writeMap(JsonWriter w, Map<?, ?> map) throws IOException {
    w.beginObject();
    if (map != null) {
      for (Map.Entry<?, ?> e : map.entrySet()) {
        w.name((String) e.getKey());
        writeValue(w, e.getValue());
      }
    }
    w.endObject();
  }

  private static void writeValue(JsonWriter w, Object v) throws IOException {
    Accessors a = ACCESSORS.get(v.getClass());
    String type = ((Enum<?>) a.call(a.type, v)).name();
    w.beginObject();
    switch (type) {
      case "S":
        w.name("S").value((String) a.call(a.s, v));
        break;
      case "N":
        w.name("N").value((String) a.call(a.n, v));
        break;
      case "B":
        w.name("B").value(b64(a.call(a.b, v)));
        break;
      case "SS":
        w.name("SS");
        writeStrings(w, (List<?>) a.call(a.ss, v));
        break;
      case "NS":
        w.name("NS");
        writeStrings(w, (List<?>) a.call(a.ns, v));
        break;
      case "BS":
        w.name("BS").beginArray();
        for (Object b : (List<?>) a.call(a.bs, v)) {
          w.value(b64(b));
        }
        w.endArray();
        break;
      case "M":
        w.name("M");
        writeMap(w, (Map<?, ?>) a.call(a.m, v));
        break;
      case "L":
        w.name("L").beginArray();
        for (Object x : (List<?>) a.call(a.l, v)) {
          writeValue(w, x);
        }
        w.endArray();
        break;
      case "BOOL":
        w.name("BOOL").value(((Boolean) a.call(a.bool, v)).booleanValue());
        break;
      case "NUL":
        w.name("NULL").value(true);
        break;
      default:
        throw new IllegalStateException("AttributeValue of unknown type " + type + ": " + v);
    }
    w.endObject();
  }

  private static void writeStrings(JsonWriter w, List<?> xs) throws IOException {
    w.beginArray();
    for (Object x : xs) {
      w.value((String) x);
    }
    w.endArray();
  }

  /** SdkBytes (relocated or not) as padded standard base64. */
  private static String b64(Object sdkBytes) {
    Accessors a = BYTES.get(sdkBytes.getClass());
    return Base64.getEncoder().encodeToString((byte[]) a.call(a.bytes, sdkBytes));
  }

  /** The public no-argument accessors of one AttributeValue (or SdkBytes) class. */
  private static final class Accessors {
    final Method type;
    final Method s;
    final Method n;
    final Method b;
    final Method ss;
    final Method ns;
    final Method bs;
    final Method m;
    final Method l;
    final Method bool;
    final Method bytes;

    Accessors(Class<?> c, boolean isBytes) {
      if (isBytes) {
        bytes = method(c, "asByteArrayUnsafe");
        type = s = n = b = ss = ns = bs = m = l = bool = null;
      } else {
        type = method(c, "type");
        s = method(c, "s");
        n = method(c, "n");
        b = method(c, "b");
        ss = method(c, "ss");
        ns = method(c, "ns");
        bs = method(c, "bs");
        m = method(c, "m");
        l = method(c, "l");
        bool = method(c, "bool");
        bytes = null;
      }
    }

    private static Method method(Class<?> c, String name) {
      try {
        return c.getMethod(name);
      } catch (NoSuchMethodException e) {
        throw new IllegalArgumentException(
            c.getName() + " has no " + name + "(): not an SDK v2 AttributeValue / SdkBytes", e);
      }
    }

    Object call(Method method, Object target) {
      try {
        return method.invoke(target);
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException) {
          throw (RuntimeException) cause;
        }
        throw new IllegalStateException(cause);
      }
    }
  }

  private static final ClassValue<Accessors> ACCESSORS =
      new ClassValue<Accessors>() {
        @Override
        protected Accessors computeValue(Class<?> c) {
          return new Accessors(c, false);
        }
      };

  private static final ClassValue<Accessors> BYTES =
      new ClassValue<Accessors>() {
        @Override
        protected Accessors computeValue(Class<?> c) {
          return new Accessors(c, true);
        }
      };
}
