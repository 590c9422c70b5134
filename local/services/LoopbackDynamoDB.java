import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local as Serval runs it (local/services/dynamodb.ts). Same command line as
 * DynamoDBLocal.jar, with two differences the jar has no option for:
 *
 * - It listens on 127.0.0.1 only. The emulator accepts any credentials, so it must not be reachable
 *   from the network; the jar builds its Jetty server with a port and no host (every interface),
 *   so the host is set on the connector before the server starts.
 * - It exits when its standard input closes. Serval holds the write end of that pipe and never
 *   writes to it; when Serval dies, however it dies (even SIGKILL), the kernel closes the pipe, so
 *   the JVM cannot outlive it and keep the database files open.
 */
public class LoopbackDynamoDB {
  public static void main(String[] args) throws Exception {
    Thread watch = new Thread(LoopbackDynamoDB::exitWhenParentGoes, "serval-parent-watch");
    watch.setDaemon(true);
    watch.start();

    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      ((ServerConnector) connector).setHost("127.0.0.1");
    }
    proxy.start();
  }

  private static void exitWhenParentGoes() {
    try {
      while (System.in.read() != -1) {
        // Serval never writes; anything read is ignored.
      }
    } catch (Exception ignored) {
      // A broken pipe means the same as end of input.
    }
    // A shutdown hook that hangs must not keep the database open: halt after a grace period.
    Thread halt = new Thread(() -> {
      try {
        Thread.sleep(2000);
      } catch (InterruptedException ignored) {
      }
      Runtime.getRuntime().halt(1);
    });
    halt.setDaemon(true);
    halt.start();
    System.exit(0);
  }
}
