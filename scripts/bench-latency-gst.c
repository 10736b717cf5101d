/* GStreamer side of scripts/bench-latency: per-packet latency through a chain of
 * `queue ! identity` stages at a fixed rate, timed the way `pipeline bench --latency` times ours.
 *
 *   appsrc ! (queue ! identity) x STAGES ! queue ! fakesink
 *
 * The feeding thread wakes at absolute CLOCK_MONOTONIC deadlines start + i/rate, writes the
 * current CLOCK_MONOTONIC nanoseconds into an 8-byte buffer and pushes it; fakesink's handoff
 * (on the last queue's thread) reads the clock again. Latency = handoff time - stamp, so both
 * engines are measured from "the source has the packet" to "the sink has it", across
 * STAGES + 1 thread hand-offs. The first 5% of packets are a warm-up and not counted.
 *
 * Usage: bench-latency-gst RATE COUNT STAGES   -> prints "p50_us p99_us max_us received"
 * Build: cc -O2 bench-latency-gst.c $(pkg-config --cflags --libs gstreamer-1.0)
 */
#include <gst/gst.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t *latencies;
static long received;
static long capacity;

static void on_handoff(GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer data) {
    (void)sink; (void)pad; (void)data;
    uint64_t stamp = 0;
    gst_buffer_extract(buffer, 0, &stamp, sizeof stamp);
    uint64_t t = now_ns();
    if (received < capacity) latencies[received] = t - stamp;
    received++;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s RATE COUNT STAGES\n", argv[0]);
        return 2;
    }
    double rate = atof(argv[1]);
    long count = atol(argv[2]);
    int stages = atoi(argv[3]);
    if (rate <= 0 || count < 20 || stages < 0 || stages > 100) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    gst_init(&argc, &argv);
    GString *description = g_string_new("appsrc name=src ");
    for (int i = 0; i < stages; i++) g_string_append(description, "! queue ! identity ");
    g_string_append(description, "! queue ! fakesink name=sink sync=false async=false signal-handoffs=true");
    GError *error = NULL;
    GstElement *pipeline = gst_parse_launch(description->str, &error);
    if (!pipeline) {
        fprintf(stderr, "gst_parse_launch: %s\n", error ? error->message : "?");
        return 1;
    }
    capacity = count;
    latencies = calloc((size_t)count, sizeof *latencies);
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    g_object_set(src, "block", TRUE, "max-bytes", (guint64)(1 << 20), NULL);
    g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), NULL);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);

    uint64_t start = now_ns() + 10000000ull;
    for (long i = 0; i < count; i++) {
        uint64_t deadline = start + (uint64_t)((double)i * 1e9 / rate);
        struct timespec ts = {(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {}
        GstBuffer *buffer = gst_buffer_new_allocate(NULL, sizeof(uint64_t), NULL);
        uint64_t stamp = now_ns();
        gst_buffer_fill(buffer, 0, &stamp, sizeof stamp);
        GstFlowReturn flow = GST_FLOW_OK;
        g_signal_emit_by_name(src, "push-buffer", buffer, &flow);  /* appsrc takes a reference */
        gst_buffer_unref(buffer);
        if (flow != GST_FLOW_OK) {
            fprintf(stderr, "push failed at %ld\n", i);
            return 1;
        }
    }
    GstFlowReturn flow = GST_FLOW_OK;
    g_signal_emit_by_name(src, "end-of-stream", &flow);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *message = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        fprintf(stderr, "pipeline error\n");
        return 1;
    }
    gst_message_unref(message);
    gst_element_set_state(pipeline, GST_STATE_NULL);

    long warm = count / 20;
    long n = (received < count ? received : count) - warm;
    qsort(latencies + warm, (size_t)n, sizeof *latencies, compare);
    uint64_t *l = latencies + warm;
    printf("%.1f %.1f %.1f %ld\n", l[n / 2] / 1e3, l[(long)(n * 0.99)] / 1e3, l[n - 1] / 1e3, received);
    return 0;
}
