//! The `QIODevice` side of a `LocalSocket`.

use sigloop_core::{DeviceError, IoDevice, OpenMode};

use super::LocalSocket;

/// The `QIODevice` side: the engine's read and write buffers, as for a
/// [`TcpSocket`](crate::TcpSocket); open from a successful connect until `close`.
impl IoDevice for LocalSocket {
    fn open_mode(&self) -> OpenMode {
        if self.local.open.get() {
            self.socket.open_mode()
        } else {
            OpenMode::NOT_OPEN
        }
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.socket.read_into(buf)
    }

    fn read_raw(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        self.socket.read_raw(max)
    }

    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.socket.peek_into(buf)
    }

    fn write(&self, data: &[u8]) -> Result<usize, DeviceError> {
        IoDevice::write(&self.socket, data)
    }

    fn write_vec(&self, data: Vec<u8>) -> Result<usize, DeviceError> {
        self.socket.write_vec(data)
    }

    fn bytes_available(&self) -> usize {
        self.socket.bytes_available()
    }

    fn bytes_to_write(&self) -> usize {
        self.socket.bytes_to_write()
    }

    fn unget_char(&self, c: u8) {
        self.socket.unget_char(c);
    }

    fn start_transaction(&self) {
        self.socket.start_transaction();
    }

    fn commit_transaction(&self) {
        self.socket.commit_transaction();
    }

    fn rollback_transaction(&self) {
        self.socket.rollback_transaction();
    }

    fn is_transaction_started(&self) -> bool {
        self.socket.is_transaction_started()
    }

    fn is_sequential(&self) -> bool {
        true
    }

    fn index_of_newline(&self, max: usize) -> Option<usize> {
        self.socket.index_of_newline(max)
    }
}
