import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Collections;
import org.apache.kafka.connect.runtime.distributed.ConnectProtocol;
import org.apache.kafka.connect.runtime.distributed.ExtendedAssignment;
import org.apache.kafka.connect.runtime.distributed.ExtendedWorkerState;
import org.apache.kafka.connect.runtime.distributed.IncrementalCooperativeConnectProtocol;
import org.apache.kafka.connect.util.ConnectorTaskId;

// Prints, one per line in hex, the connect protocol messages Java writes
// for the assignment the Rust test builds too.
public class ProtocolOracle {
    static void print(String name, ByteBuffer b) {
        StringBuilder s = new StringBuilder(name).append(' ');
        ByteBuffer d = b.duplicate();
        while (d.hasRemaining()) s.append(String.format("%02x", d.get()));
        System.out.println(s);
    }

    public static void main(String[] args) {
        String url = "http://10.0.0.1:8083/";
        for (short v = 1; v <= 2; v++) {
            ExtendedAssignment a = new ExtendedAssignment(v, ExtendedAssignment.NO_ERROR, "connect-1-abc", url, 7L,
                Arrays.asList("file-source", "b"),
                Arrays.asList(new ConnectorTaskId("file-source", 0), new ConnectorTaskId("other", 2), new ConnectorTaskId("file-source", 1)),
                Arrays.asList("gone"), Arrays.asList(new ConnectorTaskId("gone", 1)), 40);
            print("assignment-v" + v, IncrementalCooperativeConnectProtocol.serializeAssignment(a, v == 2));
            print("metadata-v" + v, IncrementalCooperativeConnectProtocol.serializeMetadata(new ExtendedWorkerState(url, 7L, a), v == 2));
            print("metadata-first-v" + v, IncrementalCooperativeConnectProtocol.serializeMetadata(new ExtendedWorkerState(url, -1L, null), v == 2));
        }
        ConnectProtocol.Assignment a0 = new ConnectProtocol.Assignment(ConnectProtocol.Assignment.CONFIG_MISMATCH, "l", url, 3L,
            Arrays.asList("a"), Arrays.asList(new ConnectorTaskId("b", 3)));
        print("assignment-v0", ConnectProtocol.serializeAssignment(a0));
        print("metadata-v0", ConnectProtocol.serializeMetadata(new ConnectProtocol.WorkerState(url, 3L)));
    }
}
