import java.io.*;
import java.nio.file.*;
/* What a Java program can reach in the sandbox: prints one line per probe. */
public class Main {
  static String read(String path) { try { Files.readAllBytes(Paths.get(path)); return "read"; } catch (Exception e) { return "blocked"; } }
  static String write(String path) { try { Files.write(Paths.get(path), new byte[] {1}); return "wrote"; } catch (Exception e) { return "blocked"; } }
  public static void main(String[] args) throws Exception {
    System.out.println("passwd " + read("/etc/passwd"));
    System.out.println("hostname " + read("/etc/hostname"));
    System.out.println("meminfo " + read("/proc/meminfo"));
    System.out.println("pid1 " + read("/proc/1/cmdline"));
    String[] etc = new File("/etc").list();
    System.out.println("etc " + String.join(",", etc == null ? new String[0] : etc));
    String[] proc = new File("/proc").list();
    System.out.println("proc " + (proc == null ? 0 : proc.length));
    System.out.println("jdkconf " + write("/etc/java-17-openjdk/x"));
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", 22)) { System.out.println("socket connected"); } catch (Exception e) { System.out.println("socket blocked"); }
  }
}
