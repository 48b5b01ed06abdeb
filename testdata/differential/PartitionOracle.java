import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Utils;

// Prints the partition Java's producer (DefaultPartitioner / BuiltInPartitioner)
// chooses for each key given, for a topic of args[0] partitions: murmur2 of
// the key bytes, made positive, modulo the partition count.
public class PartitionOracle {
    public static void main(String[] args) {
        int partitions = Integer.parseInt(args[0]);
        for (int i = 1; i < args.length; i++) {
            byte[] key = args[i].getBytes(StandardCharsets.UTF_8);
            System.out.println(Utils.toPositive(Utils.murmur2(key)) % partitions);
        }
    }
}
