package dev.ddbs3.hive;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.apache.hadoop.hive.ql.lib.Node;
import org.apache.hadoop.hive.ql.parse.ASTNode;
import org.apache.hadoop.hive.ql.parse.BaseSemanticAnalyzer;
import org.apache.hadoop.hive.ql.parse.ParseDriver;

/**
 * Syntax check of a rendered HiveQL script with Hive's own parser (ParseDriver), split into
 * statements the way the Hive CLI does for `hive -f`: lines starting with "--" dropped, the text
 * split on ';' (a piece ending with a backslash is joined with the next). SET lines are CLI
 * commands, not HiveQL, and are reported as such.
 *
 * Prints one JSON object a statement: {"kind": "set"|"hiveql", "text", "tree", "strings": [...]},
 * "strings" being every string literal of the statement unescaped as Hive unescapes it. Exit 1 with
 * the parse error on the first statement Hive cannot parse.
 *
 *   java -cp <pyspark jars>/*:<this jar> dev.ddbs3.hive.HqlCheck export.hql
 */
public final class HqlCheck {
    private HqlCheck() {}

    public static void main(String[] args) throws Exception {
        String text = new String(Files.readAllBytes(Paths.get(args[0])), StandardCharsets.UTF_8);
        StringBuilder kept = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (!line.startsWith("--")) {
                kept.append(line).append('\n');
            }
        }
        List<String> statements = new ArrayList<>();
        String pending = "";
        for (String piece : kept.toString().split(";", -1)) {
            if (piece.endsWith("\\")) {
                pending += piece.substring(0, piece.length() - 1) + ";";
                continue;
            }
            statements.add(pending + piece);
            pending = "";
        }
        // The lexer needs the HiveConf: with hive.support.quoted.identifiers=column (the default,
        // as in the CLI) a backtick is written doubled inside a quoted identifier. ParseDriver only
        // passes it through a Context, which needs a session, so its steps are done here.
        org.apache.hadoop.hive.conf.HiveConf conf = new org.apache.hadoop.hive.conf.HiveConf();
        for (String raw : statements) {
            String stmt = raw.trim();
            if (stmt.isEmpty()) {
                continue;
            }
            if (stmt.toLowerCase().startsWith("set ")) {
                System.out.println("{\"kind\":\"set\",\"text\":" + json(stmt) + "}");
                continue;
            }
            ASTNode tree;
            try {
                tree = parse(stmt, conf);
            } catch (Exception e) {
                System.err.println("cannot parse: " + e.getMessage().replace('\n', ' ') + " in: " + stmt);
                System.exit(1);
                return;
            }
            List<String> strings = new ArrayList<>();
            collectStrings(tree, strings);
            StringBuilder arr = new StringBuilder("[");
            for (int i = 0; i < strings.size(); i++) {
                arr.append(i == 0 ? "" : ",").append(json(strings.get(i)));
            }
            arr.append("]");
            System.out.println("{\"kind\":\"hiveql\",\"text\":" + json(stmt) + ",\"tree\":" + json(tree.toStringTree())
                    + ",\"strings\":" + arr + "}");
        }
    }

    private static ASTNode parse(String command, org.apache.hadoop.hive.conf.HiveConf conf) throws Exception {
        ParseDriver pd = new ParseDriver();
        ParseDriver.HiveLexerX lexer = pd.new HiveLexerX(pd.new ANTLRNoCaseStringStream(command));
        lexer.setHiveConf(conf);
        org.antlr.runtime.TokenRewriteStream tokens = new org.antlr.runtime.TokenRewriteStream(lexer);
        final List<String> errors = new ArrayList<>();
        org.apache.hadoop.hive.ql.parse.HiveParser parser = new org.apache.hadoop.hive.ql.parse.HiveParser(tokens) {
            @Override
            public void displayRecognitionError(String[] names, org.antlr.runtime.RecognitionException e) {
                errors.add(getErrorHeader(e) + " " + getErrorMessage(e, names));
            }
        };
        parser.setTreeAdaptor(new org.antlr.runtime.tree.CommonTreeAdaptor() {
            @Override
            public Object create(org.antlr.runtime.Token payload) {
                return new ASTNode(payload);
            }

            @Override
            public Object dupNode(Object t) {
                return create(((org.antlr.runtime.tree.CommonTree) t).token);
            }

            @Override
            public Object errorNode(org.antlr.runtime.TokenStream input, org.antlr.runtime.Token start,
                                    org.antlr.runtime.Token stop, org.antlr.runtime.RecognitionException e) {
                return new org.apache.hadoop.hive.ql.parse.ASTErrorNode(input, start, stop, e);
            }
        });
        org.apache.hadoop.hive.ql.parse.HiveParser.statement_return r = parser.statement();
        if (!lexer.getErrors().isEmpty()) {
            throw new RuntimeException("lexer error: " + lexer.getErrors().size() + " error(s)");
        }
        if (!errors.isEmpty()) {
            throw new RuntimeException(errors.get(0));
        }
        return (ASTNode) r.getTree();
    }

    private static void collectStrings(ASTNode node, List<String> out) {
        if (node.getToken() != null && node.getToken().getType() == org.apache.hadoop.hive.ql.parse.HiveParser.StringLiteral) {
            out.add(BaseSemanticAnalyzer.unescapeSQLString(node.getText()));
        }
        if (node.getChildren() != null) {
            for (Node child : node.getChildren()) {
                collectStrings((ASTNode) child, out);
            }
        }
    }

    private static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
